-- Churn features of each customer at each cutoff date, point in time: built only from orders
-- placed before the cutoff and from what had happened to them by then (an order returned or
-- cancelled after the cutoff counts as neither), with the customer version valid at the cutoff.
-- The label, churned, says whether the customer placed no order in the label window after it.
-- Rows: customers active at the cutoff (an order in the 30 days before it); one silent for
-- longer has already lapsed.
-- Features look back `lookback_days` only, a window complete at every cutoff (the shop's order
-- history starts 120 days before its first business date): cumulative figures would grow with
-- the data's age, not with behaviour, and differ between training and scoring.
-- Cutoffs: every 7 days back from the data's end (the day after the latest order date) over
-- `cutoff_history_days`, plus each of the last 7 days, so daily scoring finds its own cutoff.
-- A cutoff whose label window is not over yet has a null label (scoring rows).
{% set label_days = 28 %}
{% set cutoff_history_days = 84 %}
{% set lookback_days = 30 %}

with

orders as (

    select * from {{ ref('fct_orders') }}

),

order_status as (

    -- When the current status was reached: a return or cancellation counts only before a cutoff.
    select order_id, status_updated_at from {{ ref('orders') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

bounds as (

    select cast({{ dbt.dateadd('day', 1, 'max(order_date)') }} as date) as data_end
    from orders

),

spine as (

    {{ date_spine(
        '(select cast(' ~ dbt.dateadd('day', -cutoff_history_days, 'data_end') ~ ' as date) from bounds)',
        '(select cast(' ~ dbt.dateadd('day', 1, 'data_end') ~ ' as date) from bounds)',
        digits=3,
    ) }}

),

cutoffs as (

    select
        spine.date_day as cutoff_date,
        cast({{ dbt.dateadd('day', label_days, 'spine.date_day') }} as date) as label_window_end,
        bounds.data_end
    from spine
    cross join bounds
    where mod({{ days_between('spine.date_day', 'bounds.data_end') }}, 7) = 0
        or spine.date_day > cast({{ dbt.dateadd('day', -7, 'bounds.data_end') }} as date)

),

history as (

    -- The orders of the lookback window before each cutoff, returned / cancelled by then or not.
    select
        cutoffs.cutoff_date,
        orders.customer_id,
        orders.order_date,
        orders.net_amount,
        orders.status = 'returned'
            and cast(order_status.status_updated_at as date) < cutoffs.cutoff_date as returned_by_cutoff,
        orders.status = 'cancelled'
            and cast(order_status.status_updated_at as date) < cutoffs.cutoff_date as cancelled_by_cutoff,
        {{ days_between('orders.order_date', 'cutoffs.cutoff_date') }} as days_before_cutoff
    from cutoffs
    inner join orders
        on orders.order_date < cutoffs.cutoff_date
        and orders.order_date >= cast({{ dbt.dateadd('day', -lookback_days, 'cutoffs.cutoff_date') }} as date)
    inner join order_status
        on orders.order_id = order_status.order_id

),

behaviour as (

    select
        cutoff_date,
        customer_id,
        min(days_before_cutoff) as recency_days,
        sum(case when days_before_cutoff <= 7 then 1 else 0 end) as orders_7d,
        count(*) as orders_30d,
        sum(case when cancelled_by_cutoff then 0 else net_amount end) as monetary_30d,
        sum(case when returned_by_cutoff then 1 else 0 end) as returned_orders_30d,
        sum(case when cancelled_by_cutoff then 1 else 0 end) as cancelled_orders_30d
    from history
    group by cutoff_date, customer_id

),

future_orders as (

    -- Customers with an order in each labelled cutoff's window.
    select distinct
        cutoffs.cutoff_date,
        orders.customer_id
    from cutoffs
    inner join orders
        on orders.order_date >= cutoffs.cutoff_date
        and orders.order_date < cutoffs.label_window_end
    where cutoffs.label_window_end <= cutoffs.data_end

),

final as (

    select
        cutoffs.cutoff_date,
        behaviour.customer_id,
        customers.segment,
        cast(
            {{ days_between('cast(customers.created_at as date)', 'cutoffs.cutoff_date') }}
            as {{ dbt.type_bigint() }}
        ) as tenure_days,
        cast(behaviour.recency_days as {{ dbt.type_bigint() }}) as recency_days,
        cast(behaviour.orders_7d as {{ dbt.type_bigint() }}) as orders_7d,
        cast(behaviour.orders_30d as {{ dbt.type_bigint() }}) as orders_30d,
        cast(behaviour.monetary_30d as {{ type_amount() }}) as monetary_30d,
        cast(behaviour.returned_orders_30d as {{ dbt.type_bigint() }}) as returned_orders_30d,
        cast(behaviour.cancelled_orders_30d as {{ dbt.type_bigint() }}) as cancelled_orders_30d,
        cutoffs.label_window_end,
        case
            when cutoffs.label_window_end > cutoffs.data_end then null
            else future_orders.customer_id is null
        end as churned
    from behaviour
    inner join cutoffs
        on behaviour.cutoff_date = cutoffs.cutoff_date
    inner join customers
        on behaviour.customer_id = customers.customer_id
        and {{ valid_at('customers', 'cast(cutoffs.cutoff_date as ' ~ lakehouse.type_timestamp_us() ~ ')') }}
    left join future_orders
        on behaviour.cutoff_date = future_orders.cutoff_date
        and behaviour.customer_id = future_orders.customer_id

)

select * from final

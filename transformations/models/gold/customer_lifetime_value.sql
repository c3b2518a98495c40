-- Customer lifetime value: one row per customer (current version), with what they ordered over
-- their lifetime. Cancelled orders are excluded, as in daily_revenue.
with

customers as (

    select * from {{ ref('dim_customer') }}
    where is_current

),

orders as (

    select * from {{ ref('fct_orders') }}
    where status <> 'cancelled'

),

order_totals as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(*) as order_count,
        sum(unit_count) as unit_count,
        sum(net_amount) as net_revenue
    from orders
    group by customer_id

),

final as (

    select
        customers.customer_id,
        customers.customer_key,
        customers.segment,
        customers.city,
        customers.country,
        cast(customers.created_at as date) as signup_date,
        order_totals.first_order_date,
        order_totals.last_order_date,
        cast(coalesce(order_totals.order_count, 0) as {{ dbt.type_bigint() }}) as order_count,
        cast(coalesce(order_totals.unit_count, 0) as {{ dbt.type_bigint() }}) as unit_count,
        cast(coalesce(order_totals.net_revenue, 0) as {{ type_amount() }}) as lifetime_value,
        cast(
            case
                when order_totals.order_count > 0
                    then order_totals.net_revenue / order_totals.order_count
            end as {{ type_amount() }}
        ) as average_order_value
    from customers
    left join order_totals
        on customers.customer_id = order_totals.customer_id

)

select * from final

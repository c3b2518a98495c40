-- Customer cohorts: customers grouped by the month of their first (non-cancelled) order, and
-- what each cohort ordered in every month since (month 0 = the cohort month).
with

orders as (

    select * from {{ ref('fct_orders') }}
    where status <> 'cancelled'

),

first_orders as (

    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'min(order_date)') }} as date) as cohort_month
    from orders
    group by customer_id

),

cohort_sizes as (

    select cohort_month, count(*) as cohort_size
    from first_orders
    group by cohort_month

),

activity as (

    select
        first_orders.cohort_month,
        cast({{ dbt.date_trunc('month', 'orders.order_date') }} as date) as order_month,
        orders.customer_id,
        orders.net_amount
    from orders
    inner join first_orders
        on orders.customer_id = first_orders.customer_id

),

final as (

    select
        activity.cohort_month,
        activity.order_month,
        -- Whole calendar months from dates (dbt.datediff casts to millisecond timestamps on Trino).
        cast(
            (extract(year from activity.order_month) - extract(year from activity.cohort_month)) * 12
            + extract(month from activity.order_month) - extract(month from activity.cohort_month)
            as {{ dbt.type_int() }}
        ) as months_since_first_order,
        cast(cohort_sizes.cohort_size as {{ dbt.type_bigint() }}) as cohort_size,
        cast(count(distinct activity.customer_id) as {{ dbt.type_bigint() }}) as active_customers,
        cast(count(*) as {{ dbt.type_bigint() }}) as order_count,
        cast(sum(activity.net_amount) as {{ type_amount() }}) as net_revenue
    from activity
    inner join cohort_sizes
        on activity.cohort_month = cohort_sizes.cohort_month
    group by activity.cohort_month, activity.order_month, cohort_sizes.cohort_size

)

select * from final

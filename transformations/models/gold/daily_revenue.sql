-- Revenue per order date. Cancelled orders are excluded; returned orders still count
-- (refunds are not in the source data). Days without a billable order have no row.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

billable_orders as (

    select * from orders
    where status <> 'cancelled'

),

final as (

    select
        order_date,
        cast(count(*) as {{ dbt.type_bigint() }}) as orders,
        cast(sum(item_count) as {{ dbt.type_bigint() }}) as items,
        cast(sum(unit_count) as {{ dbt.type_bigint() }}) as units,
        cast(sum(gross_amount) as {{ type_amount() }}) as gross_revenue,
        cast(sum(discount_amount) as {{ type_amount() }}) as discount_amount,
        cast(sum(net_amount) as {{ type_amount() }}) as net_revenue
    from billable_orders
    group by order_date

)

select * from final

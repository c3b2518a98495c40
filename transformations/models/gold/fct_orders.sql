-- Order fact: one row per order, with the customer version valid when it was placed
-- (point in time), its line totals and what was paid.
with

orders as (

    select * from {{ ref('orders') }}

),

order_items as (

    select * from {{ ref('order_items') }}

),

payments as (

    select * from {{ ref('payments') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

item_totals as (

    select
        order_id,
        count(*) as item_count,
        sum(quantity) as unit_count,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(net_amount) as net_amount
    from order_items
    group by order_id

),

payment_totals as (

    select
        order_id,
        count(*) as payment_count,
        sum(amount) as paid_amount
    from payments
    group by order_id

),

joined as (

    select
        orders.order_id,
        orders.customer_id,
        customers.customer_key,
        orders.ordered_at,
        orders.order_date,
        orders.status,
        orders.channel,
        cast(coalesce(item_totals.item_count, 0) as {{ dbt.type_bigint() }}) as item_count,
        cast(coalesce(item_totals.unit_count, 0) as {{ dbt.type_bigint() }}) as unit_count,
        cast(coalesce(item_totals.gross_amount, 0) as {{ type_amount() }}) as gross_amount,
        cast(coalesce(item_totals.discount_amount, 0) as {{ type_amount() }}) as discount_amount,
        cast(coalesce(item_totals.net_amount, 0) as {{ type_amount() }}) as net_amount,
        cast(coalesce(payment_totals.payment_count, 0) as {{ dbt.type_bigint() }}) as payment_count,
        cast(coalesce(payment_totals.paid_amount, 0) as {{ type_amount() }}) as paid_amount
    from orders
    left join customers
        on orders.customer_id = customers.customer_id
        and {{ valid_at('customers', 'orders.ordered_at') }}
    left join item_totals
        on orders.order_id = item_totals.order_id
    left join payment_totals
        on orders.order_id = payment_totals.order_id

)

select * from joined

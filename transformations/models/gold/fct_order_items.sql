-- Order line fact: one row per (deduplicated) order line, with the product version and the
-- customer version valid when the order was placed (point in time).
with

order_items as (

    select * from {{ ref('order_items') }}

),

orders as (

    select * from {{ ref('orders') }}

),

products as (

    select * from {{ ref('dim_product') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

joined as (

    select
        order_items.order_item_id,
        order_items.order_id,
        order_items.product_id,
        products.product_key,
        orders.customer_id,
        customers.customer_key,
        order_items.created_at as ordered_at,
        cast(order_items.created_at as date) as order_date,
        orders.status,
        order_items.quantity,
        order_items.unit_price,
        products.unit_price as list_price,
        order_items.discount_amount,
        order_items.gross_amount,
        order_items.net_amount
    from order_items
    left join orders
        on order_items.order_id = orders.order_id
    left join products
        on order_items.product_id = products.product_id
        and {{ valid_at('products', 'order_items.created_at') }}
    left join customers
        on orders.customer_id = customers.customer_id
        and {{ valid_at('customers', 'order_items.created_at') }}

)

select * from joined

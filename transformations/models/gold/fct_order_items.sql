-- Order line fact: one row per (deduplicated) order line, with the product version and the
-- customer version valid when the order was placed (point in time).
-- Incremental: the lines that changed in the run's window, the lines of orders that changed, and
-- the lines ordered at or after a product or customer version new in the window are recomputed and
-- replace their old rows (delete+insert on order_item_id), so the result equals a full refresh.
-- A line whose product version (the one valid when ordered, at the line's price) or customer is
-- not delivered yet points at the dimension's inferred member; the line is recomputed, and
-- re-pointed, when the version arrives (macros/inferred_members.sql).
-- dim_date is built before this fact (dbt's depends_on hint), so the relationship test on
-- order_date runs with the fact, in the same (partitioned) step, not with the marts after it.
-- depends_on: {{ ref('dim_date') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_item_id',
        on_schema_change='fail',
    )
}}

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

all_lines as (

    -- Each line with its order's customer and status (null until the order has arrived).
    select
        order_items.*,
        orders.customer_id,
        orders.status
    from order_items
    left join orders
        on order_items.order_id = orders.order_id

),

lines as (

    -- The lines this run builds (all of them on a full refresh).
    {{ facts_to_recompute(
        'all_lines',
        changed_rows={'order_item_id': [ref('order_items')], 'order_id': [ref('orders')]},
        new_versions={'product_id': ref('dim_product'), 'customer_id': ref('dim_customer')},
        at='created_at',
    ) }}

),

joined as (

    select
        lines.order_item_id,
        lines.order_id,
        lines.product_id,
        coalesce(products.product_key, {{ inferred_member_key('lines.product_id') }}) as product_key,
        lines.customer_id,
        coalesce(customers.customer_key, {{ inferred_member_key('lines.customer_id') }}) as customer_key,
        lines.created_at as ordered_at,
        cast(lines.created_at as date) as order_date,
        lines.status,
        lines.quantity,
        lines.unit_price,
        products.unit_price as list_price,
        lines.discount_amount,
        lines.gross_amount,
        lines.net_amount,
        {{ built_at() }} as built_at
    from lines
    left join products
        on lines.product_id = products.product_id
        and {{ valid_at('products', 'lines.created_at') }}
        -- the line's version has the line's price (source contract); with none, the version
        -- valid when ordered is not delivered yet
        and lines.unit_price = products.unit_price
    left join customers
        on lines.customer_id = customers.customer_id
        and {{ valid_at('customers', 'lines.created_at') }}

)

select * from joined

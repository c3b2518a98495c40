-- Every order's totals in fct_orders equal the sums over its lines in fct_order_items (the two
-- facts agree). Returns the orders where they differ.
with

items as (

    select
        order_id,
        count(*) as item_count,
        sum(quantity) as unit_count,
        sum(gross_amount) as gross_amount,
        sum(net_amount) as net_amount
    from {{ ref('fct_order_items') }}
    group by order_id

)

select
    orders.order_id,
    orders.item_count,
    items.item_count as line_item_count,
    orders.net_amount,
    items.net_amount as line_net_amount
from {{ ref('fct_orders') }} as orders
left join items
    on orders.order_id = items.order_id
where
    orders.item_count <> coalesce(items.item_count, 0)
    or orders.unit_count <> coalesce(items.unit_count, 0)
    or orders.gross_amount <> coalesce(items.gross_amount, 0)
    or orders.net_amount <> coalesce(items.net_amount, 0)

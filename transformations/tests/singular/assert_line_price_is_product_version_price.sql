-- Source contract and point-in-time join together: a line's unit_price is the list price of the
-- product version valid when the order was placed. Returns the lines where they differ.
select
    order_item_id,
    order_id,
    product_id,
    product_key,
    ordered_at,
    unit_price,
    list_price
from {{ ref('fct_order_items') }}
where list_price is null or unit_price <> list_price

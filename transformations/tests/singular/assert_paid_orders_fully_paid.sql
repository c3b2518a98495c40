-- Every order that reached payment (paid, shipped, delivered, returned) has payments summing
-- exactly to the net amount of its lines. Returns the orders where they differ.
select
    order_id,
    status,
    net_amount,
    paid_amount
from {{ ref('fct_orders') }}
where
    status in ('paid', 'shipped', 'delivered', 'returned')
    and paid_amount <> net_amount

-- Every order that reached payment (paid, shipped, delivered, returned) and has payments has
-- payments summing exactly to the net amount of its lines. Returns the orders where they differ.
-- An order whose payments have not arrived yet (a backfill that left a gap) is waiting, not wrong:
-- the warning-level assert_paid_orders_have_payments counts those.
select
    order_id,
    status,
    net_amount,
    paid_amount
from {{ ref('fct_orders') }}
where
    status in ('paid', 'shipped', 'delivered', 'returned')
    and payment_count > 0
    and paid_amount <> net_amount

-- Point in time: every feature row describes a customer who ordered before its cutoff
-- (recency >= 1 day) and existed by then (tenure >= 0); counts are consistent.
select *
from {{ ref('ml_customer_features') }}
where recency_days < 1
    or tenure_days < 0
    or orders_30d > orders_90d
    or orders_90d > order_count
    or orders_30d < 1
    or returned_orders + cancelled_orders > order_count

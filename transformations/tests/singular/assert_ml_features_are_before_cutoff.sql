-- Point in time: every feature row describes a customer who ordered in the 30 days before its
-- cutoff (recency 1 to 30 days) and existed by then (tenure >= 0); counts are consistent.
select *
from {{ ref('ml_customer_features') }}
where recency_days not between 1 and 30
    or tenure_days < 0
    or orders_30d < 1
    or orders_7d > orders_30d
    or returned_orders_30d + cancelled_orders_30d > orders_30d

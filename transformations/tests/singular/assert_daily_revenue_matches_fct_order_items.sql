-- The revenue mart reconciles with the line fact: per order date, daily_revenue.net_revenue is
-- the sum of the net amounts of the lines of non-cancelled orders. Returns the dates that differ.
-- A date missing on one side counts as 0 there: an order whose lines have not arrived yet (its
-- later status came on a date built before the date of its lines) gives a daily_revenue row of 0
-- and no lines, which reconciles.
with

lines as (

    select
        order_date,
        sum(net_amount) as net_revenue
    from {{ ref('fct_order_items') }}
    where status <> 'cancelled'
    group by order_date

)

select
    coalesce(daily.order_date, lines.order_date) as order_date,
    daily.net_revenue,
    lines.net_revenue as line_net_revenue
from {{ ref('daily_revenue') }} as daily
full outer join lines
    on daily.order_date = lines.order_date
where coalesce(daily.net_revenue, 0) <> coalesce(lines.net_revenue, 0)

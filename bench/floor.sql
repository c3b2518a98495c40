-- The floor: the same gold tables written by hand in DuckDB SQL, straight from the recorded
-- Parquet increments (no orchestration, no table format, no dbt). {root} is the recording.
-- It mirrors the dbt models' logic (dedup, SCD2 validity, point-in-time joins) so the pipeline
-- and the floor produce the same figures; bench/run.py checks that they do.
set TimeZone = 'UTC';
-- UTC wall-clock time of a timestamptz: make_timestamp(epoch_us(x)), ~10x cheaper than
-- `x at time zone 'UTC'` (no time zone lookup), as the dbt models do.

create or replace table customers as
with deduplicated as (
    select * exclude (_arrived_at), _arrived_at as arrived_at
    from read_parquet('{root}/customers/*.parquet')
    qualify row_number() over (partition by customer_id, updated_at order by _arrived_at) = 1
)
select
    md5(cast(customer_id as varchar) || '|' || strftime(
        case when version_number = 1 and created_at < updated_at then created_at else updated_at end
        at time zone 'UTC', '%Y-%m-%d %H:%M:%S.%f')) as customer_key,
    *,
    case when version_number = 1 and created_at < updated_at then created_at else updated_at end
        as valid_from,
    next_from as valid_to
from (
    select *,
        row_number() over (partition by customer_id order by updated_at) as version_number,
        lead(updated_at) over (partition by customer_id order by updated_at) as next_from
    from deduplicated
);

create or replace table products as
with deduplicated as (
    select * from read_parquet('{root}/products/*.parquet')
    qualify row_number() over (partition by product_id, updated_at order by _arrived_at) = 1
)
select
    md5(cast(product_id as varchar) || '|' || strftime(
        case when version_number = 1 and created_at < updated_at then created_at else updated_at end
        at time zone 'UTC', '%Y-%m-%d %H:%M:%S.%f')) as product_key,
    *,
    case when version_number = 1 and created_at < updated_at then created_at else updated_at end
        as valid_from,
    next_from as valid_to
from (
    select *,
        row_number() over (partition by product_id order by updated_at) as version_number,
        lead(updated_at) over (partition by product_id order by updated_at) as next_from
    from deduplicated
);

create or replace table orders as
select order_id, customer_id, status, channel, ordered_at,
       cast(make_timestamp(epoch_us(ordered_at)) as date) as order_date
from read_parquet('{root}/orders/*.parquet')
qualify row_number() over (partition by order_id order by updated_at desc, _arrived_at desc) = 1;

create or replace table order_items as
select order_item_id, order_id, product_id, quantity, unit_price, discount_amount, created_at,
       quantity * unit_price as gross_amount,
       quantity * unit_price - discount_amount as net_amount
from read_parquet('{root}/order_items/*.parquet')
qualify row_number() over (partition by order_item_id order by _arrived_at) = 1;

create or replace table payments as
select payment_id, order_id, amount
from read_parquet('{root}/payments/*.parquet')
qualify row_number() over (partition by payment_id order by _arrived_at) = 1;

create or replace table fct_order_items as
select i.order_item_id, i.order_id, i.product_id, p.product_key, o.customer_id, c.customer_key,
       i.created_at as ordered_at, cast(make_timestamp(epoch_us(i.created_at)) as date) as order_date,
       o.status, i.quantity, i.unit_price, p.unit_price as list_price, i.discount_amount,
       i.gross_amount, i.net_amount
from order_items i
left join orders o using (order_id)
left join products p on i.product_id = p.product_id and i.created_at >= p.valid_from
    and i.created_at < coalesce(p.valid_to, timestamptz '9999-12-31')
left join customers c on o.customer_id = c.customer_id and i.created_at >= c.valid_from
    and i.created_at < coalesce(c.valid_to, timestamptz '9999-12-31');

create or replace table fct_orders as
with items as (
    select order_id, count(*) as item_count, sum(quantity) as unit_count,
           sum(gross_amount) as gross_amount, sum(discount_amount) as discount_amount,
           sum(net_amount) as net_amount
    from order_items group by order_id
),
paid as (select order_id, count(*) as payment_count, sum(amount) as paid_amount from payments group by order_id)
select o.order_id, o.customer_id, c.customer_key, o.ordered_at, o.order_date, o.status, o.channel,
       coalesce(items.item_count, 0) as item_count, coalesce(items.unit_count, 0) as unit_count,
       coalesce(items.gross_amount, 0) as gross_amount,
       coalesce(items.discount_amount, 0) as discount_amount,
       coalesce(items.net_amount, 0) as net_amount,
       coalesce(paid.payment_count, 0) as payment_count, coalesce(paid.paid_amount, 0) as paid_amount
from orders o
left join customers c on o.customer_id = c.customer_id and o.ordered_at >= c.valid_from
    and o.ordered_at < coalesce(c.valid_to, timestamptz '9999-12-31')
left join items using (order_id)
left join paid using (order_id);

create or replace table daily_revenue as
select order_date, count(*) as orders, sum(item_count) as items, sum(unit_count) as units,
       sum(gross_amount) as gross_revenue, sum(discount_amount) as discount_amount,
       sum(net_amount) as net_revenue
from fct_orders where status <> 'cancelled' group by order_date;

create or replace table customer_lifetime_value as
with totals as (
    select customer_id, min(order_date) as first_order_date, max(order_date) as last_order_date,
           count(*) as order_count, sum(unit_count) as unit_count, sum(net_amount) as net_revenue
    from fct_orders where status <> 'cancelled' group by customer_id
)
select c.customer_id, c.customer_key, c.segment, c.city, c.country,
       cast(make_timestamp(epoch_us(c.created_at)) as date) as signup_date,
       t.first_order_date, t.last_order_date, coalesce(t.order_count, 0) as order_count,
       coalesce(t.unit_count, 0) as unit_count, coalesce(t.net_revenue, 0) as lifetime_value,
       t.net_revenue / nullif(t.order_count, 0) as average_order_value
from customers c left join totals t using (customer_id)
where c.valid_to is null;

create or replace table customer_cohorts as
with billable as (select * from fct_orders where status <> 'cancelled'),
firsts as (
    select customer_id, cast(date_trunc('month', min(order_date)) as date) as cohort_month
    from billable group by customer_id
),
sizes as (select cohort_month, count(*) as cohort_size from firsts group by cohort_month)
select f.cohort_month, cast(date_trunc('month', b.order_date) as date) as order_month,
       date_diff('month', f.cohort_month, cast(date_trunc('month', b.order_date) as date))
           as months_since_first_order,
       s.cohort_size, count(distinct b.customer_id) as active_customers, count(*) as order_count,
       sum(b.net_amount) as net_revenue
from billable b join firsts f using (customer_id) join sizes s using (cohort_month)
group by all;

create or replace table product_performance as
with sales as (
    select product_id, count(distinct order_id) as order_count, sum(quantity) as unit_count,
           sum(gross_amount) as gross_revenue, sum(discount_amount) as discount_amount,
           sum(net_amount) as net_revenue, min(order_date) as first_order_date,
           max(order_date) as last_order_date
    from fct_order_items where status <> 'cancelled' group by product_id
)
select p.product_id, p.product_key, p.sku, p.product_name, p.category,
       p.unit_price as current_unit_price, p.version_number as price_versions,
       s.first_order_date, s.last_order_date, coalesce(s.order_count, 0) as order_count,
       coalesce(s.unit_count, 0) as unit_count, coalesce(s.gross_revenue, 0) as gross_revenue,
       coalesce(s.discount_amount, 0) as discount_amount, coalesce(s.net_revenue, 0) as net_revenue
from products p left join sales s using (product_id)
where p.valid_to is null;

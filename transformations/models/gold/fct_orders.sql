-- Order fact: one row per order, with the customer version valid when it was placed
-- (point in time), its line totals and what was paid.
-- Incremental: the orders whose rows, lines or payments changed in the run's window, and those
-- placed at or after a customer version new in the window, are recomputed from all their rows and
-- replace their old rows (delete+insert on order_id), so the result equals a full refresh.
-- An order whose customer is not delivered yet points at the customer's inferred member; the
-- order is recomputed, and re-pointed, when the customer arrives (macros/inferred_members.sql).
-- dim_date is built before this fact (dbt's depends_on hint), so the relationship test on
-- order_date runs with the fact, in the same (partitioned) step, not with the marts after it.
-- depends_on: {{ ref('dim_date') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='fail',
    )
}}

with

all_orders as (

    select * from {{ ref('orders') }}

),

orders as (

    -- The orders this run builds (all of them on a full refresh).
    {{ facts_to_recompute(
        'all_orders',
        changed_rows={'order_id': [ref('orders'), ref('order_items'), ref('payments')]},
        new_versions={'customer_id': ref('dim_customer')},
        at='ordered_at',
    ) }}

),

order_items as (

    select * from {{ ref('order_items') }}
    {%- if is_incremental() %}
    where order_id in (select order_id from orders)
    {%- endif %}

),

payments as (

    select * from {{ ref('payments') }}
    {%- if is_incremental() %}
    where order_id in (select order_id from orders)
    {%- endif %}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

item_totals as (

    select
        order_id,
        count(*) as item_count,
        sum(quantity) as unit_count,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(net_amount) as net_amount
    from order_items
    group by order_id

),

payment_totals as (

    select
        order_id,
        count(*) as payment_count,
        sum(amount) as paid_amount
    from payments
    group by order_id

),

joined as (

    select
        orders.order_id,
        orders.customer_id,
        coalesce(customers.customer_key, {{ inferred_member_key('orders.customer_id') }}) as customer_key,
        orders.ordered_at,
        orders.order_date,
        orders.status,
        orders.channel,
        cast(coalesce(item_totals.item_count, 0) as {{ dbt.type_bigint() }}) as item_count,
        cast(coalesce(item_totals.unit_count, 0) as {{ dbt.type_bigint() }}) as unit_count,
        cast(coalesce(item_totals.gross_amount, 0) as {{ type_amount() }}) as gross_amount,
        cast(coalesce(item_totals.discount_amount, 0) as {{ type_amount() }}) as discount_amount,
        cast(coalesce(item_totals.net_amount, 0) as {{ type_amount() }}) as net_amount,
        cast(coalesce(payment_totals.payment_count, 0) as {{ dbt.type_bigint() }}) as payment_count,
        cast(coalesce(payment_totals.paid_amount, 0) as {{ type_amount() }}) as paid_amount,
        {{ built_at() }} as built_at
    from orders
    left join customers
        on orders.customer_id = customers.customer_id
        and {{ valid_at('customers', 'orders.ordered_at') }}
    left join item_totals
        on orders.order_id = item_totals.order_id
    left join payment_totals
        on orders.order_id = payment_totals.order_id

)

select * from joined

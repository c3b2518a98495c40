-- One row per order line: re-sent duplicates removed, keeping the earliest arrival.
-- Incremental: keys touched by the new rows are recomputed from all their rows (delete+insert),
-- so the result equals a full refresh.
{{ config(unique_key='order_item_id') }}

with

source as (

    select * from {{ ref('stg_order_items') }}

),

history as (

    {{ changed_key_history('source', 'order_item_id') }}

),

ranked as (

    {{ rank_duplicates('history', 'order_item_id', 'arrived_at', 'arrival_rank') }}

),

final as (

    select
        order_item_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        cast(quantity * unit_price as {{ type_amount() }}) as gross_amount,
        cast(quantity * unit_price - discount_amount as {{ type_amount() }}) as net_amount,
        created_at,
        arrived_at,
        business_date,
        {{ built_at() }} as built_at
    from ranked
    where arrival_rank = 1

)

select * from final

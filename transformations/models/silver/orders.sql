-- One row per order: its latest status version from the order change log.
-- Incremental: keys touched by the new rows are recomputed from all their rows (delete+insert),
-- so the result equals a full refresh.
{{ config(unique_key='order_id') }}

with

source as (

    select * from {{ ref('stg_orders') }}

),

history as (

    {{ changed_key_history('source', 'order_id') }}

),

ranked as (

    -- Latest version first; a version delivered twice is ordered by its latest arrival.
    select
        history.*,
        row_number() over (
            partition by order_id
            order by updated_at desc, arrived_at desc
        ) as version_rank
    from history

),

final as (

    select
        order_id,
        customer_id,
        status,
        channel,
        ordered_at,
        cast(ordered_at as date) as order_date,
        updated_at as status_updated_at,
        arrived_at,
        business_date,
        {{ built_at() }} as built_at
    from ranked
    where version_rank = 1

)

select * from final

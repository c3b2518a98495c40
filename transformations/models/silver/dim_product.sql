-- Product dimension, SCD type 2: one row per product version (price changes) with a validity interval
-- [valid_from, valid_to). valid_to is null for the current version (no far-future sentinel).
-- Incremental: the products touched by the new rows are recomputed from their whole history
-- and replace their old versions (delete+insert on product_id), so late or out-of-order
-- versions give the same rows as a full refresh.
{{ config(unique_key='product_id') }}

with

source as (

    select * from {{ ref('stg_products') }}

),

{% if is_incremental() %}
changed_keys as (

    select distinct product_id from source
    where {{ incremental_window() }}

),

history as (

    select source.*
    from source
    inner join changed_keys on source.product_id = changed_keys.product_id

),
{% else %}
history as (

    select * from source

),
{% endif %}

deduplicated as (

    -- A version delivered twice counts once: keep its earliest arrival.
    select *
    from (
        select
            history.*,
            row_number() over (
                partition by product_id, updated_at
                order by arrived_at
            ) as arrival_rank
        from history
    ) ranked
    where arrival_rank = 1

),

versioned as (

    select
        deduplicated.*,
        row_number() over (
            partition by product_id order by updated_at
        ) as version_number,
        -- The next version ends this one, so versions are contiguous by construction.
        lead(updated_at) over (
            partition by product_id order by updated_at
        ) as next_version_from
    from deduplicated

),

validity as (

    select
        versioned.*,
        -- The first known version also covers the time between creation and its first update,
        -- so an order placed in that gap still finds the product.
        case
            when version_number = 1 and created_at < updated_at then created_at
            else updated_at
        end as valid_from,
        next_version_from as valid_to
    from versioned

),

final as (

    select
        {{ surrogate_key(['product_id', timestamp_to_string('valid_from')]) }} as product_key,
        product_id,
        sku,
        product_name,
        category,
        unit_price,
        created_at,
        updated_at,
        valid_from,
        valid_to,
        valid_to is null as is_current,
        version_number,
        arrived_at,
        business_date
    from validity

)

select * from final

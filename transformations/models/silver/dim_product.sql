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

history as (

    {{ changed_key_history('source', 'product_id') }}

),

validity as (

    {{ scd2_versions('history', 'product_id') }}

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

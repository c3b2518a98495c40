-- Product dimension, SCD type 2: one row per product version (price changes) with a validity interval
-- [valid_from, valid_to). valid_to is null for the current version (no far-future sentinel).
-- Incremental: the products touched by the new rows are recomputed from their whole history
-- and replace their old versions (delete+insert on product_id), so late or out-of-order
-- versions give the same rows as a full refresh.
-- Late-arriving versions: an order line sold at a price no delivered version of its product has
-- at that time waits for its version; the product gets an inferred member (a placeholder row,
-- is_inferred) for such lines to point at, which goes once the version arrives
-- (macros/inferred_members.sql).
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

versions as (

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
        false as is_inferred,
        arrived_at,
        business_date
    from validity

),

referenced as (

    -- What the order lines need of a product: the version valid when ordered, at their price.
    select
        product_id,
        created_at as referenced_at,
        unit_price,
        business_date
    from {{ ref('order_items') }}

),

waiting as (

    -- Products with lines waiting for a version: they get an inferred member.
    {{ inferred_members('versions', 'referenced', 'product_id', matching=['unit_price']) }}

),

unchanged as (

    {{ unchanged_versions('waiting', 'versions', 'product_id') }}

),

inferred as (

    -- The placeholder: unknown attributes, no validity interval (a point-in-time join never
    -- matches it); current while the product has no delivered version.
    select
        {{ inferred_member_key('product_id') }} as product_key,
        product_id,
        cast(null as {{ dbt.type_string() }}) as sku,
        cast(null as {{ dbt.type_string() }}) as product_name,
        cast(null as {{ dbt.type_string() }}) as category,
        cast(null as {{ type_money() }}) as unit_price,
        cast(null as {{ type_timestamp_us() }}) as created_at,
        cast(null as {{ type_timestamp_us() }}) as updated_at,
        cast(null as {{ type_timestamp_us() }}) as valid_from,
        cast(null as {{ type_timestamp_us() }}) as valid_to,
        not has_versions as is_current,
        cast(0 as {{ dbt.type_bigint() }}) as version_number,
        true as is_inferred,
        cast(null as {{ type_timestamp_us() }}) as arrived_at,
        cast(null as date) as business_date
    from waiting

),

final as (

    select * from versions
    union all
    select * from unchanged
    union all
    select * from inferred

)

select * from final

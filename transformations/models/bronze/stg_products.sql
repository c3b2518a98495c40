-- One row per product version as delivered (change log): typed, trimmed, UTC timestamps.
with

source as (

    select * from {{ source('raw', 'products') }}

),

renamed as (

    select
        cast(product_id as {{ dbt.type_bigint() }}) as product_id,
        upper(trim(sku)) as sku,
        trim(product_name) as product_name,
        lower(trim(category)) as category,
        cast(unit_price as {{ type_money() }}) as unit_price,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at,
        {{ arrival_columns() }}

    from source

)

select * from renamed

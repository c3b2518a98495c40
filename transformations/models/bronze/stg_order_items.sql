-- One row per order line as delivered; re-sent duplicates are still here (removed in silver).
with

source as (

    select * from {{ source('raw', 'order_items') }}

),

renamed as (

    select
        cast(order_item_id as {{ dbt.type_bigint() }}) as order_item_id,
        cast(order_id as {{ dbt.type_bigint() }}) as order_id,
        cast(product_id as {{ dbt.type_bigint() }}) as product_id,
        cast(quantity as {{ dbt.type_bigint() }}) as quantity,
        cast(unit_price as {{ type_money() }}) as unit_price,
        cast(coalesce(discount_amount, 0) as {{ type_money() }}) as discount_amount,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ arrival_columns() }}

    from source

)

select * from renamed

-- One row per order status version as delivered (change log): typed, UTC timestamps.
with

source as (

    select * from {{ source('raw', 'orders') }}

),

renamed as (

    select
        cast(order_id as {{ dbt.type_bigint() }}) as order_id,
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,
        lower(trim(status)) as status,
        lower(trim(channel)) as channel,
        {{ utc_timestamp('ordered_at') }} as ordered_at,
        {{ utc_timestamp('updated_at') }} as updated_at,
        {{ arrival_columns() }}

    from source

)

select * from renamed

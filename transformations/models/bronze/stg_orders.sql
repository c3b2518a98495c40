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
        {{ utc_timestamp('_arrived_at') }} as arrived_at,
        cast({{ utc_timestamp('_arrived_at') }} as date) as business_date,
        -- As delivered: filters on a plain raw column reach the scan, which skips the raw
        -- files outside a run's arrival window (macros/incremental.sql).
        _arrived_at

    from source

)

select * from renamed

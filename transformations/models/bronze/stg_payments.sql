-- One row per payment as delivered; re-sent duplicates are still here (removed in silver).
with

source as (

    select * from {{ source('raw', 'payments') }}

),

renamed as (

    select
        cast(payment_id as {{ dbt.type_bigint() }}) as payment_id,
        cast(order_id as {{ dbt.type_bigint() }}) as order_id,
        lower(trim(payment_method)) as payment_method,
        cast(amount as {{ type_money() }}) as amount,
        {{ utc_timestamp('paid_at') }} as paid_at,
        {{ utc_timestamp('_arrived_at') }} as arrived_at,
        cast({{ utc_timestamp('_arrived_at') }} as date) as business_date,
        -- As delivered: filters on a plain raw column reach the scan, which skips the raw
        -- files outside a run's arrival window (macros/incremental.sql).
        _arrived_at

    from source

)

select * from renamed

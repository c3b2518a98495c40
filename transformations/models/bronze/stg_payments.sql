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
        {{ arrival_columns() }}

    from source

)

select * from renamed

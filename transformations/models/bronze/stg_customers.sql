-- One row per customer version as delivered (change log): typed, trimmed, UTC timestamps.
with

source as (

    select * from {{ source('raw', 'customers') }}

),

renamed as (

    select
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,
        trim(first_name) as first_name,
        trim(last_name) as last_name,
        lower(trim(email)) as email,
        trim(city) as city,
        upper(trim(country)) as country,
        lower(trim(segment)) as segment,
        {{ utc_timestamp('created_at') }} as created_at,
        {{ utc_timestamp('updated_at') }} as updated_at,
        {{ arrival_columns() }}

    from source

)

select * from renamed

-- One row per order: its latest status version from the order change log.
with

source as (

    select * from {{ ref('stg_orders') }}

),

ranked as (

    -- Latest version first; a version delivered twice is ordered by its latest arrival.
    select
        source.*,
        row_number() over (
            partition by order_id
            order by updated_at desc, arrived_at desc
        ) as version_rank
    from source

),

final as (

    select
        order_id,
        customer_id,
        status,
        channel,
        ordered_at,
        cast(ordered_at as date) as order_date,
        updated_at as status_updated_at,
        arrived_at,
        business_date
    from ranked
    where version_rank = 1

)

select * from final

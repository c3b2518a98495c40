-- One row per payment: re-sent duplicates removed, keeping the earliest arrival.
with

source as (

    select * from {{ ref('stg_payments') }}

),

ranked as (

    select
        source.*,
        row_number() over (
            partition by payment_id
            order by arrived_at
        ) as arrival_rank
    from source

),

final as (

    select
        payment_id,
        order_id,
        payment_method,
        amount,
        paid_at,
        arrived_at,
        business_date
    from ranked
    where arrival_rank = 1

)

select * from final

-- One row per payment: re-sent duplicates removed, keeping the earliest arrival.
-- Incremental: keys touched by the new rows are recomputed from all their rows (delete+insert),
-- so the result equals a full refresh.
{{ config(unique_key='payment_id') }}

with

source as (

    select * from {{ ref('stg_payments') }}

),

history as (

    {{ changed_key_history('source', 'payment_id') }}

),

ranked as (

    select
        history.*,
        row_number() over (
            partition by payment_id
            order by arrived_at
        ) as arrival_rank
    from history

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

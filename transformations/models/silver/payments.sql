-- One row per payment: re-sent duplicates removed, keeping the earliest arrival.
-- Incremental: keys touched by the new rows are recomputed from all their rows (delete+insert),
-- so the result equals a full refresh.
{{ config(unique_key='payment_id') }}

with

source as (

    select * from {{ ref('stg_payments') }}

),

{% if is_incremental() %}
changed_keys as (

    select distinct payment_id from source
    where {{ incremental_window() }}

),

history as (

    select source.*
    from source
    inner join changed_keys on source.payment_id = changed_keys.payment_id

),
{% else %}
history as (

    select * from source

),
{% endif %}

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

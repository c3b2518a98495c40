-- One row per payment: re-sent duplicates removed, keeping the earliest arrival.
-- Incremental: keys touched by the new rows are recomputed from all their rows (delete+insert),
-- so the result equals a full refresh. The payments of every order the window touches come too:
-- silver.orders rebuilds such an order from all its versions, including a paid version that
-- arrived after the window (already in raw when an earlier date runs); its payments arrived with
-- that version, so they must be here as well, or fct_orders shows the order paid with nothing paid.
{{ config(unique_key='payment_id') }}

with

source as (

    select * from {{ ref('stg_payments') }}

),

history as (

    {{ changed_key_history('source', 'payment_id', follows={'order_id': ref('stg_orders')}) }}

),

ranked as (

    {{ rank_duplicates('history', 'payment_id', 'arrived_at', 'arrival_rank') }}

),

final as (

    select
        payment_id,
        order_id,
        payment_method,
        amount,
        paid_at,
        arrived_at,
        business_date,
        {{ built_at() }} as built_at
    from ranked
    where arrival_rank = 1

)

select * from final

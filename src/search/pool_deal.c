/* Dealing ML-pool entries to walkers by index (fuse2-algorithm.md §17.4):
 * entry i belongs to walker i mod P, never to whoever asks first, so a
 * campaign does not depend on the order in which ranks report. */
#include <stdlib.h>
#include <string.h>

#include "fuse2/moves.h"
#include "fuse2/rng.h"
#include "fuse2/search.h"

fuse2_status fuse2_pool_deal_init(fuse2_pool_deal *d, const fuse2_pool_index *pool, int walker,
                                  int walkers, uint64_t seed)
{
    if (!d || !pool || !pool->count || !pool->take_index)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "pool dealing needs a pool with count and take_index");
    if (walkers < 1 || walker < 0 || walker >= walkers)
        return FUSE2_RAISE(FUSE2_ERR_ARG, "pool dealing: walker %d of %d", walker, walkers);
    memset(d, 0, sizeof *d);
    d->pool = pool;
    int total = pool->count(pool->user);
    if (total < 0) return FUSE2_RAISE(FUSE2_ERR_ARG, "pool dealing: pool count %d < 0", total);
    int n = total > walker ? (total - walker + walkers - 1) / walkers : 0;
    if (n > 0) {
        d->order = malloc((size_t)n * sizeof *d->order);
        if (!d->order) return FUSE2_RAISE(FUSE2_ERR_NOMEM, "pool dealing: %d indices", n);
    }
    for (int k = 0; k < n; k++) d->order[k] = walker + k * walkers;
    /* Fisher-Yates with the walker's own stream. */
    fuse2_rng rng;
    fuse2_rng_init(&rng, seed, (uint32_t)walker, 0, FUSE2_RNG_PURPOSE_POOL_WALKER);
    for (int k = n - 1; k > 0; k--) {
        int j = fuse2_rng_int(&rng, 0, k);
        int t = d->order[k];
        d->order[k] = d->order[j];
        d->order[j] = t;
    }
    d->n = n;
    return FUSE2_OK;
}

void fuse2_pool_deal_free(fuse2_pool_deal *d)
{
    if (!d) return;
    free(d->order);
    memset(d, 0, sizeof *d);
}

static int deal_available(void *user)
{
    const fuse2_pool_deal *d = user;
    return d->n - d->next;
}

fuse2_status fuse2_pool_deal_next(fuse2_pool_deal *d, fuse2_structure *out, int *index)
{
    *index = -1;
    while (d->next < d->n) {
        int entry = d->order[d->next++], taken = 0;
        FUSE2_CALL(d->pool->take_index(d->pool->user, entry, out, &taken));
        if (taken) {
            *index = entry;
            break;
        }
    }
    return FUSE2_OK;
}

static fuse2_status deal_take(void *user, fuse2_rng *rng, fuse2_structure *out, int *taken)
{
    (void)rng; /* the order was drawn once, from the walker's stream */
    int index;
    FUSE2_CALL(fuse2_pool_deal_next(user, out, &index));
    *taken = index >= 0;
    return FUSE2_OK;
}

void fuse2_pool_deal_source(fuse2_pool_deal *d, fuse2_pool_source *out)
{
    memset(out, 0, sizeof *out);
    out->user = d;
    out->available = deal_available;
    out->take = deal_take;
}

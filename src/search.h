/* search.h - the packed continuum and its prefix index (internal).
 *
 * Points are kept sorted and split by their top `bits` bits into 2^bits
 * buckets; buckets[k] is the index of the first point whose top bits are
 * >= k.  Inside bucket k every point shares those top bits, so an entry
 * stores only the point's low `shift` (= 32 - bits) bits, and the owner's
 * index in the remaining high bits:
 *
 *     entry = owner << shift | (point & ((1 << shift) - 1))
 *
 * bits is at least log2(node count) so every owner index fits.  Small
 * rings get one bucket per 8 to 16 points; the bucket table is capped at
 * 2^12 buckets (16 KB, which stays in cache) unless the owners need more
 * bits (2^17 for 100,000 nodes: 512 KB).  A continuum is thus 4 bytes per
 * point plus about 0.5 byte per point of buckets (more when the owner
 * indexes need the bits: a large membership of few points), and a lookup reads one
 * bucket pair and a window of entries at or around its bucket, which hold
 * the owner too: a plain binary search over a 12-million-point array would
 * touch about twenty lines, one after another. */
#ifndef HR_SEARCH_H
#define HR_SEARCH_H

#include <stddef.h>
#include <stdint.h>
#if defined(__SSE2__) && !defined(HR_SEARCH_PORTABLE)
#include <emmintrin.h>
#endif

typedef struct hr_index {
    unsigned shift;    /* low point bits kept per entry: 32 - bits (8..32) */
    uint32_t *buckets; /* (1 << bits) + 1 entries */
} hr_index;

/* An entry keeps its owner's index in at most this many bits: at least
 * 8 low point bits stay in every entry. */
#define HR_MAX_OWNER_BITS 24

/* Buckets of more entries than this are searched from a guess. */
#define HR_BIG_BUCKET 32

/* Buckets of at most this many entries are searched by counting in a
 * window of this many; those of up to HR_BIG_BUCKET in a window of that
 * many (hr_count_below). */
#define HR_SMALL_BUCKET 16

/* Every entry array that hr_index_lower_bound searches has this many
 * readable entries past its end: the counting search reads a whole
 * window and masks off the entries outside the bucket: an empty bucket at
 * the end reads 16 entries past it, one of 17 entries 15.  Allocate entry
 * arrays with hr_index_alloc_entries. */
#define HR_ENT_PAD 16

/* hr_count_below's windows are these sizes, and the padding covers them. */
_Static_assert(HR_SMALL_BUCKET == 16 && HR_BIG_BUCKET == 32 && HR_ENT_PAD >= HR_SMALL_BUCKET &&
                   HR_ENT_PAD >= HR_BIG_BUCKET - (HR_SMALL_BUCKET + 1),
               "hr_count_below reads windows of 16 and 32 entries");

/* An array of n entries plus HR_ENT_PAD zeroed ones; NULL when out of
 * memory.  Release with free(). */
uint32_t *hr_index_alloc_entries(size_t n);

/* The shift for a continuum of n points and nnodes nodes. */
unsigned hr_index_shift_for(size_t n, size_t nnodes);

static inline uint32_t hr_low_mask(const hr_index *ix)
{
    return (uint32_t)(((uint64_t)1 << ix->shift) - 1);
}

static inline uint32_t hr_entry(const hr_index *ix, uint32_t point, uint32_t owner)
{
    return (uint32_t)((uint64_t)owner << ix->shift) | (point & hr_low_mask(ix));
}

static inline uint32_t hr_entry_owner(const hr_index *ix, uint32_t e)
{
    return (uint32_t)((uint64_t)e >> ix->shift);
}

/* Builds ix (with the given shift) over sorted pts[0..n) and writes the
 * packed entries (points with owners own[]) to ent.
 * HASH_RING_OK or HASH_RING_ENOMEM. */
int hr_index_encode(hr_index *ix, unsigned shift, const uint32_t *pts, const uint32_t *own,
                    size_t n, uint32_t *ent);

/* Derives the index of a continuum of n points from `old` (same shift),
 * the index of the continuum it was made from by inserting ins[0..nins)
 * and deleting del[0..ndel) (points, ascending): O(buckets + changes).
 * HASH_RING_OK or HASH_RING_ENOMEM. */
int hr_index_update(hr_index *ix, const hr_index *old, size_t n, const uint32_t *ins,
                    size_t nins, const uint32_t *del, size_t ndel);

void hr_index_free(hr_index *ix);
#ifdef HASH_RING_TEST_HOOKS
/* Test builds only: the bucket table's size in bytes. */
size_t hr_index_bytes(const hr_index *ix);
#endif

/* How many of the n (<= 32) entries at p have low bits below t: since
 * they are sorted by their low bits, those are a run at the start.  The
 * compares are independent of one another and need no branch, where a
 * halving search is a chain of dependent loads whose loop exit
 * mispredicts as bucket sizes vary.  Reads p[0..16) when n <= 16, else
 * p[0..32). */
#if defined(__SSE2__) && !defined(HR_SEARCH_PORTABLE)
/* one bit per entry of p[0..16) whose low bits are below t, in order
 * (unsigned compares done as signed ones on values biased by 2^31) */
static inline unsigned hr_below_bits16(const uint32_t *p, __m128i m, __m128i tv)
{
    const __m128i bias = _mm_set1_epi32(INT32_MIN);
    __m128i lt[4];
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 4 * k));
        lt[k] = _mm_cmplt_epi32(_mm_xor_si128(_mm_and_si128(v, m), bias), tv);
    }
    return (unsigned)_mm_movemask_epi8(
        _mm_packs_epi16(_mm_packs_epi32(lt[0], lt[1]), _mm_packs_epi32(lt[2], lt[3])));
}

static inline size_t hr_count_below(const uint32_t *p, size_t n, uint32_t mask, uint32_t t)
{
    const __m128i m = _mm_set1_epi32((int)mask);
    const __m128i tv = _mm_xor_si128(_mm_set1_epi32((int)t), _mm_set1_epi32(INT32_MIN));
    uint64_t bits = hr_below_bits16(p, m, tv);
    if (n > 16)
        bits |= (uint64_t)hr_below_bits16(p + 16, m, tv) << 16;
    bits &= ((uint64_t)1 << n) - 1;
    return (size_t)__builtin_ctzll(~bits);
}
#else
static inline size_t hr_count_below(const uint32_t *p, size_t n, uint32_t mask, uint32_t t)
{
    size_t below = 0, w = n > 16 ? 32 : 16;
    for (size_t i = 0; i < w; i++)
        below += (size_t)(((p[i] & mask) < t) & (i < n));
    return below;
}
#endif

/* Where a big bucket's search counts: the first of the HR_BIG_BUCKET
 * entries around the guess.  Points are uniform, so about t * len /
 * 2^shift of the bucket's len entries are below t (within a few). */
static inline size_t hr_window_start(uint32_t t, size_t len, unsigned shift)
{
    size_t g = (size_t)(((uint64_t)t * len) >> shift);
    size_t w0 = g > HR_BIG_BUCKET / 2 ? g - HR_BIG_BUCKET / 2 : 0;
    return w0 > len - HR_BIG_BUCKET ? len - HR_BIG_BUCKET : w0;
}

/* The first i with point(i) >= target (target may be 2^32: none), or n.
 * Inline: it is most of a lookup after the MD5.
 *
 * Rings of up to about 200 nodes have 8 to 16 entries a bucket on
 * average: the bucket's entries below the target are counted
 * (hr_count_below), in a window of 16 or, for buckets of 17 to 32
 * entries, of 32, which may run past the bucket into the next ones or the
 * array's padding (HR_ENT_PAD).
 *
 * On large rings the entries are far bigger than the caches, so what a
 * lookup costs is the cache misses it waits for one after another.  The
 * bucket table is kept small enough to stay cached (hr_index_shift_for), so
 * the one miss left is the bucket's entries: a big bucket's lines are all
 * requested at once (they arrive together, not one per halving step), and
 * the search starts from where the target's low bits say the answer is. */
static inline __attribute__((always_inline)) size_t
hr_index_search(const hr_index *ix, const uint32_t *ent, size_t n, uint64_t target, int request)
{
    if (target > UINT32_MAX || n == 0)
        return n;
    size_t b = (size_t)(target >> ix->shift);
    size_t lo = ix->buckets[b], len = ix->buckets[b + 1] - lo;
    uint32_t mask = hr_low_mask(ix), t = (uint32_t)target & mask;
    const uint32_t *base = ent + lo;
    if (len <= HR_SMALL_BUCKET)
        return lo + hr_count_below(base, len, mask, t);
    if (len > HR_BIG_BUCKET) {
        /* request the bucket's lines at once (at most 8: buckets of
         * crowded rings can be much longer, and the window below reads
         * only 1 to 3 lines of them), unless the caller has requested
         * the window's (hr_index_prefetch) */
        const char *line = (const char *)((uintptr_t)base & ~(uintptr_t)63);
        const char *stop = (const char *)(base + len);
        if (stop > line + 8 * 64)
            stop = line + 8 * 64;
        for (; request && line < stop; line += 64)
            __builtin_prefetch(line);
        /* If the answer is provably inside the window around the guess,
         * count in it; else (rarely) search the whole bucket. */
        size_t w0 = hr_window_start(t, len, ix->shift), w1 = w0 + HR_BIG_BUCKET;
        if ((w0 == 0 || (base[w0 - 1] & mask) < t) && (w1 == len || (base[w1 - 1] & mask) >= t))
            return lo + w0 + hr_count_below(base + w0, HR_BIG_BUCKET, mask, t);
    } else {
        /* 17 to 32 entries: the bucket itself is the window */
        return lo + hr_count_below(base, len, mask, t);
    }
    /* branch-free halving over the whole bucket (a conditional move per
     * step) */
    while (len > 1) {
        size_t half = len / 2;
        base = (base[half - 1] & mask) < t ? base + half : base;
        len -= half;
    }
    return (size_t)(base - ent) + ((*base & mask) < t);
}

static inline size_t hr_index_lower_bound(const hr_index *ix, const uint32_t *ent, size_t n,
                                          uint64_t target)
{
    return hr_index_search(ix, ent, n, target, 1);
}

/* Requests the entry lines that hr_index_lower_bound(target) reads, so
 * that a batch can have them on the way while it hashes other keys; reads
 * the bucket pair (request it first).  A window that falls through to
 * the whole-bucket search reads more. */
static inline void hr_index_prefetch(const hr_index *ix, const uint32_t *ent, uint64_t target)
{
    if (target > UINT32_MAX)
        return;
    size_t b = (size_t)(target >> ix->shift);
    size_t lo = ix->buckets[b], len = ix->buckets[b + 1] - lo;
    const uint32_t *from = ent + lo, *to = from + HR_SMALL_BUCKET;
    if (len > HR_BIG_BUCKET) {
        size_t w0 = hr_window_start((uint32_t)target & hr_low_mask(ix), len, ix->shift);
        from += w0 ? w0 - 1 : 0; /* the check below the window */
        to = ent + lo + w0 + HR_BIG_BUCKET;
    } else if (len > HR_SMALL_BUCKET) {
        to = from + HR_BIG_BUCKET;
    }
    for (uintptr_t line = (uintptr_t)from & ~(uintptr_t)63; line < (uintptr_t)to; line += 64)
        __builtin_prefetch((const void *)line);
}

/* The full point of entry i (finds its bucket: O(log buckets)). */
uint32_t hr_index_point(const hr_index *ix, const uint32_t *ent, size_t i);

/* Decodes ent[0..n) into pts (sequentially: O(n + buckets)). */
void hr_index_decode(const hr_index *ix, const uint32_t *ent, size_t n, uint32_t *pts);

#endif

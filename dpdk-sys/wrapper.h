/* The DPDK API nectar's dpdk port backend uses, plus small helpers for what DPDK
 * exposes only as macros or thread-local variables. Static inline functions here and
 * in the DPDK headers (rte_eth_rx_burst, rte_pktmbuf_alloc, ...) get real symbols
 * through bindgen's wrap_static_fns. */
#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_dev.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_ethdev.h>

/* rte_errno is a per-lcore (thread-local) variable behind a macro. */
static inline int nectar_rte_errno(void) { return rte_errno; }

/* rte_pktmbuf_mtod is a macro. */
static inline void *nectar_mbuf_data(struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, void *); }

/* Link state without touching the bit-field layout from Rust. */
static inline int nectar_link_up(uint16_t port) {
    struct rte_eth_link link;
    if (rte_eth_link_get_nowait(port, &link) != 0)
        return -1;
    return link.link_status == RTE_ETH_LINK_UP;
}

/* Copies the frame of `m` (all its segments) to `dst` (capacity `cap`); returns the frame
 * length, or -1 if it does not fit. Keeps mbuf layout knowledge on the C side. */
static inline int nectar_mbuf_copy_out(const struct rte_mbuf *m, void *dst, uint32_t cap) {
    uint32_t len = rte_pktmbuf_pkt_len(m);
    if (len > cap)
        return -1;
    const void *p = rte_pktmbuf_read(m, 0, len, dst);
    if (p == NULL)
        return -1;
    if (p != dst)
        rte_memcpy(dst, p, len);
    return (int)len;
}

/* Allocates an mbuf from `mp` holding a copy of `len` bytes of `src` (one segment);
 * NULL when the pool is empty or the frame exceeds the mbuf's data room. */
static inline struct rte_mbuf *nectar_mbuf_from(struct rte_mempool *mp, const void *src, uint16_t len) {
    struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
    if (m == NULL)
        return NULL;
    char *d = rte_pktmbuf_append(m, len);
    if (d == NULL) {
        rte_pktmbuf_free(m);
        return NULL;
    }
    rte_memcpy(d, src, len);
    return m;
}

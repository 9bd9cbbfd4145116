/*
 * memory.h - the memory budget (vm_memory_high_watermark, as RabbitMQ names
 * it). Over the budget, connections that publish are no longer read and are
 * told connection.blocked; consumers keep draining, and below the budget
 * everyone is read again (connection.unblocked).
 */
#ifndef WRN_MEMORY_H
#define WRN_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wrn_conn;

/* Set the budget in bytes (0: no budget). */
void wrn_memory_set_budget(uint64_t bytes);
uint64_t wrn_memory_budget(void);
/* Whether the alarm is on (publishers blocked). */
bool wrn_memory_alarm(void);
/* Re-evaluate after memory use changed; cheap when nothing crosses a mark. */
void wrn_memory_check(void);
/* A connection that publishes and would be read now: false if it must wait. */
bool wrn_memory_may_read(struct wrn_conn *c);

#ifdef __cplusplus
}
#endif

#endif /* WRN_MEMORY_H */

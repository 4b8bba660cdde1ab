// Order writes that hold a committed delivery open, for the orders named, until released: a cancel sent meanwhile
// reaches the workflow between the write and the completion of its workflow task, the race the row settles.
import type { OrderActivities } from '../../src/domain';

export interface DeliveryHold {
  /** Resolves once the order's delivery is committed and held. */
  isWritten: Promise<void>;
  release(): void;
}

export function holdingDeliveries(activities: OrderActivities) {
  const holds = new Map<string, { written: () => void; released: Promise<void> }>();
  return {
    activities: {
      ...activities,
      recordTransition: async (record) => {
        const answer = await activities.recordTransition(record);
        const hold = record.to === 'delivered' ? holds.get(record.orderId) : undefined;
        if (hold) {
          holds.delete(record.orderId);
          hold.written();
          await hold.released;
        }
        return answer;
      },
    } satisfies OrderActivities,

    hold(orderId: string): DeliveryHold {
      let written!: () => void;
      let release!: () => void;
      const isWritten = new Promise<void>((resolve) => (written = resolve));
      holds.set(orderId, { written, released: new Promise<void>((resolve) => (release = resolve)) });
      return { isWritten, release };
    },
  };
}

// A handler takes the incident store as pieces (incidents, timeline, lock...). A test double that
// answers every call in one object stands in for each piece at once.
export function storePieces<T>(store: T): { incidents: T; timeline: T; signals: T; lock: T; heals: T; rawInbox: T } {
  return { incidents: store, timeline: store, signals: store, lock: store, heals: store, rawInbox: store };
}

// A typed event emitter: on(name, listener) returns the function that removes it.
export class Emitter<Events extends { [K in keyof Events]: (...args: never[]) => void }> {
  private listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set?.delete(listener);
  }

  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        (l as (...a: Parameters<Events[E]>) => void)(...args);
      } catch (e) {
        // A listener's bug must not break delivery to the others.
        if (event !== ("error" as E)) this.emit("error" as E, ...([e] as unknown as Parameters<Events[E]>));
      }
    }
  }
}

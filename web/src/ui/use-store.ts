import { useEffect, useState } from 'preact/hooks';
import { Store } from '../store';

/** The one store of the page. */
export const store = new Store();

/** Re-renders the calling component whenever the store changes. */
export function useStore(): Store {
  const [seen, setSeen] = useState(store.version);
  useEffect(() => {
    const unsubscribe = store.subscribe(() => setSeen(store.version));
    // A change between this render and the subscription (effects run after paint) is not lost.
    if (store.version !== seen) setSeen(store.version);
    return unsubscribe;
  }, []);
  return store;
}

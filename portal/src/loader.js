// A list loaded from the API with its loading and error state (for LoadState): call run() to (re)load.
import { ref } from 'vue'

/** ``initial`` is the data before the first answer: [] for a list, null for one document. */
export function loader(fetcher, initial = []) {
  const state = { data: ref(initial), loading: ref(false), error: ref(null) }
  state.run = async () => {
    state.loading.value = true
    state.error.value = null
    try { state.data.value = await fetcher() } catch (e) { state.error.value = e } finally { state.loading.value = false }
  }
  return state
}

/** Session reference data: ``fill`` asks the API and fills ``state``; load() asks once and shares the
 * answer (``state.loaded``, or ``state.error`` and the next load() asks again), reload() asks anew
 * (after an admin changed it). */
export function loadedOnce(state, fill) {
  let loading = null
  const load = () => {
    if (!loading) {
      loading = fill()
        .then(() => { state.loaded = true })
        .catch((e) => { state.error = e; loading = null })
    }
    return loading
  }
  return { load, reload: () => { loading = null; return load() } }
}

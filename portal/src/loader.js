// A list loaded from the API with its loading and error state (for LoadState): call run() to (re)load.
import { ref } from 'vue'

export function loader(fetcher) {
  const state = { data: ref([]), loading: ref(false), error: ref(null) }
  state.run = async () => {
    state.loading.value = true
    state.error.value = null
    try { state.data.value = await fetcher() } catch (e) { state.error.value = e } finally { state.loading.value = false }
  }
  return state
}

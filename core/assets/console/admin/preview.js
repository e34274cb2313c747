// The widget preview's sample page opens the widget so its window, greeting and texts show at once.
// The widget keeps its open state in localStorage; a preview copy has no site, so its key is its own.
try { window.localStorage.setItem("natter::open", "true"); } catch (_) { /* storage off: starts closed */ }

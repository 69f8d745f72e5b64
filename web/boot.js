// Starts the dashboard. A file of its own, so the Content-Security-Policy needs no inline script.
import init from "/pkg/web.js";

init();

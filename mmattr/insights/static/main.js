// The browser page: the same ES module as the notebook widget, driven by the server's API
// instead of a kernel. A file, not an inline script: the page's CSP refuses inline scripts.
const token = new URLSearchParams(location.search).get("token") || "";
const query = "?token=" + encodeURIComponent(token);
const style = document.createElement("link");
style.rel = "stylesheet";
style.href = "static/explorer.css" + query;
document.head.append(style);
const explorer = await import("./explorer.js" + query);
explorer.default.render({ model: explorer.httpModel(token), el: document.getElementById("app") });

// Starts Swagger UI on /docs (a file of its own: the Content-Security-Policy allows no
// inline script). The document is this server's; nothing is fetched from elsewhere.
/* global SwaggerUIBundle */
"use strict";

const documentUrl = new URL("../openapi.json", document.currentScript.src).href;

window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: documentUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The default sends the document to an online validator for a badge: never.
    validatorUrl: null,
    // Keys typed into "Authorize" live in this tab's memory only: never written to storage.
    persistAuthorization: false,
  });
});

// The dashboard's own script: a file, because the Content-Security-Policy runs no inline code.

// A page left open all day keeps only the newest lines of a live feed.
document.addEventListener("htmx:afterSwap", function () {
  var feed = document.getElementById("feed");
  while (feed && feed.children.length > 500) feed.removeChild(feed.lastElementChild);
});

// Forms with data-confirm ask before they are sent (discarding cannot be undone).
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});

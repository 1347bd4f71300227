// The only script served without the token: it moves the token from the URL's fragment (which
// browsers never send) into a same-site cookie, drops it from the address bar, then loads the page.
(() => {
  const m = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  const cookie = `lab_web_${location.port || "80"}`;
  if (m) {
    document.cookie = `${cookie}=${m[1]}; path=/; SameSite=Strict`;
    history.replaceState(null, "", location.pathname);
  }
  const fail = () => {
    document.getElementById("boot").textContent =
      "This page needs the URL that 'lab web' prints (it carries the token).";
  };
  const load = (src, module) =>
    new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      if (module) s.type = "module";
      s.onload = resolve;
      s.onerror = reject;
      document.head.appendChild(s);
    });
  const css = (href) => {
    const l = document.createElement("link");
    l.rel = "stylesheet";
    l.href = href;
    document.head.appendChild(l);
  };
  if (!document.cookie.split("; ").some((c) => c.startsWith(`${cookie}=`))) {
    document.addEventListener("DOMContentLoaded", fail);
    return;
  }
  css("/assets/xterm.css");
  css("/assets/style.css");
  load("/assets/xterm.js")
    .then(() => load("/assets/addon-fit.js"))
    .then(() => load("/assets/app.js", true))
    .catch(() => (document.readyState === "loading" ? document.addEventListener("DOMContentLoaded", fail) : fail()));
})();

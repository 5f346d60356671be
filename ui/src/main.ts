import "./styles.css";
import "./screens/login";
import "./screens/register";
import "./screens/token";
import "./screens/today";
import "./screens/admin";
import { start } from "./app";
import { h, mount } from "./dom";

start().catch((e: unknown) => {
  const el = document.getElementById("app");
  if (el) {
    mount(
      el,
      h(
        "main",
        { class: "fatal", role: "alert" },
        h("h1", {}, "Parchi could not start"),
        h("p", {}, e instanceof Error ? e.message : String(e)),
      ),
    );
  }
});

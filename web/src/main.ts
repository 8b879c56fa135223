// protolearn's web app: a hash-routed single page over the node's REST, with a Keplr wallet.
import "./style.css";
import { loadConfig } from "./api";
import { errorBox, h } from "./dom";
import { accountView, challengesView, modelView, modelsView, takeFlash } from "./views";
import { connect, current, onChange, reconnect } from "./wallet";

const main = document.getElementById("main")!;
const walletBox = document.getElementById("wallet")!;

function renderWallet() {
  walletBox.replaceChildren(
    current()
      ? h("a", { href: `#/account/${current()!.address}`, class: "mono", "data-testid": "wallet-address" }, current()!.address)
      : h("button", { "data-testid": "connect", onclick: async () => {
          try {
            await connect();
          } catch (err) {
            main.prepend(errorBox(err));
          }
        } }, "Connect Keplr"),
  );
}
onChange(() => {
  renderWallet();
  route();
});

let seq = 0;
async function route() {
  const mine = ++seq;
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", (a as HTMLAnchorElement).hash === `#/${parts[0] ?? "models"}`));
  main.setAttribute("aria-busy", "true");
  let view: HTMLElement;
  try {
    switch (parts[0] ?? "models") {
      case "models":
        view = parts[1] ? await modelView(parts[1]) : await modelsView();
        break;
      case "account": {
        const address = parts[1] ?? current()?.address;
        view = address ? await accountView(address) : h("p", {}, "Connect Keplr to see your account, or open #/account/<address>.");
        break;
      }
      case "challenges":
        view = await challengesView();
        break;
      default:
        view = h("p", {}, "No such page.");
    }
  } catch (err) {
    view = errorBox(err);
  }
  if (mine !== seq) return; // a later navigation won
  const note = takeFlash();
  main.replaceChildren(...(note ? [note, view] : [view]));
  main.setAttribute("aria-busy", "false");
  main.setAttribute("data-route", location.hash || "#/models");
}

window.addEventListener("hashchange", route);
loadConfig()
  .then((c) => {
    document.getElementById("chain")!.textContent = c.chainId;
    renderWallet();
    // A wallet connected before comes back before the first view: its buttons show.
    return reconnect()
      .catch((err) => main.prepend(errorBox(err)))
      .then(() => (current() ? undefined : route()));
  })
  .catch((err) => main.replaceChildren(errorBox(err)));

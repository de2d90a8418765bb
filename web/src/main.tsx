import { render } from "preact";
import { useState } from "preact/hooks";
import { apiToken, setApiToken } from "./api";
import { Compare } from "./components/Compare";
import { RunPage } from "./components/RunPage";
import { RunsList } from "./components/RunsList";
import { StartForm } from "./components/StartForm";
import { SweepPage } from "./components/SweepPage";
import { SweepsList } from "./components/SweepsList";
import { href, useRoute } from "./router";
import "./styles.css";

/** Only needed when the server was started with API_TOKEN: mutations then need it. */
function TokenSetting() {
  const [token, setToken] = useState(apiToken());
  return (
    <details class="token">
      <summary>API token{token ? " ✓" : ""}</summary>
      <input
        type="password"
        value={token}
        placeholder="only if the server has API_TOKEN"
        onChange={(e) => {
          setToken(e.currentTarget.value);
          setApiToken(e.currentTarget.value);
        }}
      />
    </details>
  );
}

function App() {
  const route = useRoute();
  return (
    <>
      <header>
        <a class="brand" href={href.runs()}>
          DCGAN runs
        </a>
        <nav>
          <a href={href.runs()}>Runs</a>
          <a href={href.sweeps()}>Sweeps</a>
          <a href={href.newRun()}>New run</a>
          <a href="/graphql">GraphiQL</a>
        </nav>
        <TokenSetting />
      </header>
      <main>
        {route.page === "runs" && <RunsList />}
        {route.page === "run" && <RunPage id={route.id} key={route.id} />}
        {route.page === "new" && <StartForm />}
        {route.page === "compare" && <Compare ids={route.ids} />}
        {route.page === "sweeps" && <SweepsList />}
        {route.page === "sweep" && <SweepPage id={route.id} key={route.id} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);

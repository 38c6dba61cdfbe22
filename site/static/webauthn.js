// Security keys and passkeys for caddy-mfa's pages: the browser's own WebAuthn JSON helpers, no
// framework. Buttons carry data-prefix, data-csrf and data-return; messages go to #webauthn-message.
(function () {
  "use strict";
  var message = document.getElementById("webauthn-message");

  function say(text, isError) {
    if (!message) return;
    message.textContent = text;
    message.className = isError ? "error" : "notice";
    message.hidden = false;
  }

  // Why this browser or origin cannot do WebAuthn, or "" when it can.
  function cannot() {
    if (!window.isSecureContext) {
      return "Security keys need a secure page: open this site over HTTPS (or on localhost).";
    }
    if (!window.PublicKeyCredential || !navigator.credentials) {
      return "This browser cannot use security keys or passkeys.";
    }
    if (!PublicKeyCredential.parseCreationOptionsFromJSON || !PublicKeyCredential.parseRequestOptionsFromJSON) {
      return "This browser is too old for security keys here; update it.";
    }
    return "";
  }

  function post(button, path, body) {
    return fetch(button.dataset.prefix + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": button.dataset.csrf || "" },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().then(function (data) {
        if (!resp.ok) throw new Error(data.error ? data.error.message : resp.statusText);
        return data;
      });
    });
  }

  function explain(err) {
    if (err && err.name === "NotAllowedError") return "The security key did not answer, or the request was cancelled.";
    if (err && err.name === "InvalidStateError") return "This key is registered already.";
    return (err && err.message) || "Something went wrong.";
  }

  function done(button) {
    window.location.assign(button.dataset.return || (button.dataset.prefix + "/devices"));
  }

  // The user's first key passed a factor (the answer carries the new session's CSRF token): the
  // page of their first recovery codes comes next, through a form post as without a script.
  function firstCodes(button, finish) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = button.dataset.prefix + "/recovery-codes/first";
    var fields = { csrf_token: finish.csrf_token, serial: finish.serial || "", "return": button.dataset.return || "/", enrolling: button.dataset.enrolling ? "1" : "" };
    Object.keys(fields).forEach(function (name) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = fields[name];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }

  // A user made to enrol goes on to where they were going; one tidying their devices stays on
  // the devices page, which names the new key.
  function registered(button, finish) {
    if (finish.csrf_token) return firstCodes(button, finish);
    var serial = finish.serial;
    var target = button.dataset.return;
    if (button.dataset.enrolling || (target && target !== "/")) return done(button);
    window.location.assign(button.dataset.prefix + "/devices?added=" + encodeURIComponent(serial || ""));
  }

  var register = document.getElementById("webauthn-register");
  if (register) {
    register.addEventListener("click", function () {
      var why = cannot();
      if (why) return say(why, true);
      var name = document.getElementById("key-name").value;
      register.disabled = true;
      say("Touch your security key, or confirm with your device…", false);
      post(register, "/api/webauthn/register/begin", { name: name })
        .then(function (begin) {
          return navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(begin.publicKey) });
        })
        .then(function (cred) { return post(register, "/api/webauthn/register/finish", cred.toJSON()); })
        .then(function (finish) { registered(register, finish); })
        .catch(function (err) { register.disabled = false; say(explain(err), true); });
    });
  }

  // The verify page's "Remember this browser" box goes with the key's answer.
  function withRemember(body) {
    var box = document.getElementById("remember");
    if (box && box.checked) body.remember = true;
    return body;
  }

  var login = document.getElementById("webauthn-login");
  if (login) {
    login.addEventListener("click", function () {
      var why = cannot();
      if (why) return say(why, true);
      login.disabled = true;
      say("Touch your security key, or confirm with your device…", false);
      post(login, "/api/webauthn/login/begin", {})
        .then(function (begin) {
          return navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(begin.publicKey) });
        })
        .then(function (cred) { return post(login, "/api/webauthn/login/finish", withRemember(cred.toJSON())); })
        .then(function () { done(login); })
        .catch(function (err) { login.disabled = false; say(explain(err), true); });
    });
  }

  // Signing in with a passkey alone, from the sign-in page: by the button, or by choosing a
  // passkey where the browser offers them in the user name field (conditional mediation). The
  // two share one pending request, which the button aborts before it asks again.
  var passkey = document.getElementById("passkey-signin");
  var pending = null;
  function passkeySignIn(mediation) {
    if (pending) pending.abort();
    var controller = new AbortController();
    pending = controller;
    return post(passkey, "/api/passkey/begin", {})
      .then(function (begin) {
        var options = { publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(begin.publicKey), signal: controller.signal };
        if (mediation) options.mediation = mediation;
        return navigator.credentials.get(options);
      })
      .then(function (cred) { return post(passkey, "/api/passkey/finish", cred.toJSON()); })
      .then(function () { window.location.assign(passkey.dataset.return || "/"); });
  }
  if (passkey) {
    passkey.addEventListener("click", function () {
      var why = cannot();
      if (why) return say(why, true);
      passkey.disabled = true;
      say("Choose your passkey, then confirm it is you…", false);
      passkeySignIn("").catch(function (err) {
        passkey.disabled = false;
        if (err && err.name === "NotAllowedError") {
          return say("No passkey answered, or it could not check it is you (PIN, fingerprint or face). Try again, or sign in with your password.", true);
        }
        say(explain(err), true);
      });
    });
    if (!cannot() && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        // Aborted or dismissed autofill is no error worth showing.
        if (available) passkeySignIn("conditional").catch(function () {});
      });
    }
  }

  var why = cannot();
  if (why && (register || login || passkey)) say(why, true);
})();

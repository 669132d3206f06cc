// Form enhancements, all progressive: without this script every field is a plain input or
// select that posts the same value. No inline script or style (the CSP forbids both);
// translated texts come from data-label-* attributes the server rendered.
//
// 1. Place picker: a GB/T 2260 code input ([data-place-picker]) gets a search box (by name
//    or code, as a combobox) and province → city → county selects that fill in the code.
// 2. Searchable lists: a long select of a code table ([data-searchable]) gets a filter box.
(function () {
  "use strict";

  var placesPromise = null;

  function loadPlaces(url) {
    if (!placesPromise) {
      placesPromise = fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("places: HTTP " + response.status); }
          return response.json();
        })
        .then(buildIndex);
    }
    return placesPromise;
  }

  function buildIndex(entries) {
    var byCode = {}, grouping = {}, provinces = [], cities = {}, counties = {};
    entries.forEach(function (entry) {
      var code = entry[0], name = entry[1];
      byCode[code] = name;
      if (entry[2]) { grouping[code] = true; }
      if (/0000$/.test(code)) { provinces.push(code); }
      else if (/00$/.test(code)) { (cities[code.slice(0, 2)] = cities[code.slice(0, 2)] || []).push(code); }
      else { (counties[code.slice(0, 4)] = counties[code.slice(0, 4)] || []).push(code); }
    });
    // The same rule as places.full_name: a city-level grouping (flagged by the server) is left out.
    function fullName(code) {
      var province = byCode[code.slice(0, 2) + "0000"] || "";
      if (/0000$/.test(code)) { return province; }
      var cityCode = code.slice(0, 4) + "00";
      var city = grouping[cityCode] ? "" : (byCode[cityCode] || "");
      if (/00$/.test(code)) { return province + (city || byCode[code] || ""); }
      return province + city + (byCode[code] || "");
    }
    var searchable = entries.map(function (entry) {
      return { code: entry[0], full: fullName(entry[0]) };
    });
    return { byCode: byCode, provinces: provinces, cities: cities, counties: counties,
             fullName: fullName, searchable: searchable };
  }

  var counter = 0;

  function makeSelect(picker, label, extraClass) {
    var id = "place-" + (++counter);
    var wrap = document.createElement("span");
    wrap.className = "place-level " + extraClass;
    var lab = document.createElement("label");
    lab.htmlFor = id;
    lab.className = "place-level-label";
    lab.textContent = label;
    var select = document.createElement("select");
    select.id = id;
    select.className = "form-select place-select";
    wrap.appendChild(lab);
    wrap.appendChild(select);
    return { wrap: wrap, select: select };
  }

  function fill(select, codes, index, none, chosen) {
    select.textContent = "";
    var blank = document.createElement("option");
    blank.value = "";
    blank.textContent = none;
    select.appendChild(blank);
    (codes || []).forEach(function (code) {
      var option = document.createElement("option");
      option.value = code;
      option.textContent = index.byCode[code];
      if (code === chosen) { option.selected = true; }
      select.appendChild(option);
    });
    select.disabled = !codes || codes.length === 0;
  }

  function enhancePicker(picker) {
    var input = picker.querySelector("input.place-code");
    var output = picker.querySelector(".place-name");
    if (!input || picker.dataset.enhanced) { return; }
    picker.dataset.enhanced = "1";
    var labels = picker.dataset;
    var box = document.createElement("div");
    box.className = "place-tools";
    var listId = input.id + "-results";
    var search = document.createElement("input");
    search.type = "search";
    search.className = "form-control place-search";
    search.placeholder = labels.labelSearch;
    search.setAttribute("aria-label", labels.labelSearch);
    search.setAttribute("role", "combobox");
    search.setAttribute("aria-autocomplete", "list");
    search.setAttribute("aria-expanded", "false");
    search.setAttribute("aria-controls", listId);
    search.autocomplete = "off";
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "place-results";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", labels.labelResults);
    list.hidden = true;
    var levels = document.createElement("div");
    levels.className = "place-levels";
    var province = makeSelect(picker, labels.labelProvince, "province");
    var city = makeSelect(picker, labels.labelCity, "city");
    var county = makeSelect(picker, labels.labelCounty, "county");
    levels.appendChild(province.wrap);
    levels.appendChild(city.wrap);
    levels.appendChild(county.wrap);
    box.appendChild(search);
    box.appendChild(list);
    box.appendChild(levels);
    picker.insertBefore(box, input);

    loadPlaces(picker.dataset.placesUrl).then(function (index) {
      var active = -1, matches = [];

      function showName() {
        var code = input.value.trim();
        output.textContent = /^\d{6}(\d{6})?$/.test(code) ? index.fullName(code.slice(0, 6)) : "";
      }

      function syncSelects() {
        var code = input.value.trim().slice(0, 6);
        var p = code.length === 6 ? code.slice(0, 2) + "0000" : "";
        var c = code.length === 6 && !/0000$/.test(code) ? code.slice(0, 4) + "00" : "";
        var d = code.length === 6 && !/00$/.test(code) ? code : "";
        fill(province.select, index.provinces, index, labels.labelNone, index.byCode[p] ? p : "");
        fill(city.select, p ? index.cities[p.slice(0, 2)] : [], index, labels.labelNone, c);
        fill(county.select, c ? index.counties[c.slice(0, 4)] : [], index, labels.labelNone, d);
        showName();
      }

      function choose(code) {
        input.value = code;
        input.dispatchEvent(new Event("change", { bubbles: true }));
        syncSelects();
      }

      province.select.addEventListener("change", function () {
        choose(province.select.value);
        if (province.select.value) { city.select.focus(); }
      });
      city.select.addEventListener("change", function () {
        choose(city.select.value || province.select.value);
      });
      county.select.addEventListener("change", function () {
        choose(county.select.value || city.select.value || province.select.value);
      });
      input.addEventListener("input", function () {
        var code = input.value.trim();
        if (code === "" || /^\d{6}(\d{6})?$/.test(code)) { syncSelects(); } else { showName(); }
      });

      function close() {
        list.hidden = true;
        list.textContent = "";
        search.setAttribute("aria-expanded", "false");
        search.removeAttribute("aria-activedescendant");
        active = -1;
      }

      function highlight(i) {
        var items = list.querySelectorAll("li[role=option]");
        if (!items.length) { return; }
        active = (i + items.length) % items.length;
        Array.prototype.forEach.call(items, function (item, n) {
          item.setAttribute("aria-selected", n === active ? "true" : "false");
        });
        search.setAttribute("aria-activedescendant", items[active].id);
        items[active].scrollIntoView({ block: "nearest" });
      }

      function pick(i) {
        if (i < 0 || i >= matches.length) { return; }
        choose(matches[i].code);
        search.value = "";
        close();
        input.focus();
      }

      search.addEventListener("input", function () {
        var query = search.value.trim();
        list.textContent = "";
        matches = [];
        active = -1;
        if (!query) { close(); return; }
        var byDigits = /^\d+$/.test(query);
        index.searchable.forEach(function (entry) {
          if (matches.length >= 30) { return; }
          if (byDigits ? entry.code.indexOf(query) === 0 : entry.full.indexOf(query) !== -1) {
            matches.push(entry);
          }
        });
        if (!matches.length) {
          var none = document.createElement("li");
          none.className = "place-nomatch";
          none.textContent = labels.labelNomatch;
          list.appendChild(none);
        }
        matches.forEach(function (entry, i) {
          var item = document.createElement("li");
          item.id = listId + "-" + i;
          item.setAttribute("role", "option");
          item.setAttribute("aria-selected", "false");
          item.dataset.code = entry.code;
          item.textContent = entry.full + " " + entry.code;
          item.addEventListener("mousedown", function (event) { event.preventDefault(); pick(i); });
          list.appendChild(item);
        });
        list.hidden = false;
        search.setAttribute("aria-expanded", "true");
      });
      search.addEventListener("keydown", function (event) {
        if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
        else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
        else if (event.key === "Enter") {
          event.preventDefault();  // never submits the form from the search box
          pick(active >= 0 ? active : (matches.length === 1 ? 0 : -1));
        } else if (event.key === "Escape") { close(); }
      });
      search.addEventListener("blur", function () { window.setTimeout(close, 150); });

      syncSelects();
    }).catch(function () {
      box.hidden = true;  // the plain code input still works
    });
  }

  function enhanceSelect(select, form) {
    if (select.dataset.enhanced || select.multiple || select.options.length <= 8) { return; }
    select.dataset.enhanced = "1";
    var label = document.querySelector("label[for='" + select.id + "']");
    var data = (form && form.dataset) || {};
    var filter = document.createElement("input");
    filter.type = "search";
    filter.className = "form-control select-filter";
    filter.placeholder = data.filterPlaceholder || "";
    filter.setAttribute("aria-label", (data.filterLabel || "") + (label ? " " + label.textContent.replace("*", "").trim() : ""));
    filter.setAttribute("aria-controls", select.id);
    filter.autocomplete = "off";
    var status = document.createElement("span");
    status.className = "select-filter-status";
    status.setAttribute("role", "status");
    select.parentNode.insertBefore(filter, select);
    select.parentNode.insertBefore(status, select.nextSibling);

    filter.addEventListener("input", function () {
      var query = filter.value.trim().toLowerCase();
      var visible = [];
      Array.prototype.forEach.call(select.options, function (option) {
        var shows = !query || option.value === "" || option.textContent.toLowerCase().indexOf(query) !== -1;
        option.hidden = !shows;
        if (shows && option.value !== "") { visible.push(option); }
      });
      status.textContent = query && !visible.length ? (data.filterNomatch || "") : "";
      if (visible.length === 1 && select.value !== visible[0].value) {
        select.value = visible[0].value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    filter.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {  // choose the first match; never submit from here
        event.preventDefault();
        var first = Array.prototype.find.call(select.options, function (o) { return !o.hidden && o.value !== ""; });
        if (first) {
          select.value = first.value;
          select.dispatchEvent(new Event("change", { bubbles: true }));
          select.focus();
        }
      }
    });
  }

  function enhance(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-place-picker]"), enhancePicker);
    Array.prototype.forEach.call(root.querySelectorAll("select[data-searchable]"), function (select) {
      enhanceSelect(select, select.form);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }
}());
